package info

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/reflect/protoreflect"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/resource"
)

// NewExplainCommand returns `kubectl explain`, built from the proto descriptors of the
// API types: every field we serve, under its JSON name, with its upstream type name.
// (The generated descriptors carry no comments, so there are no descriptions.)
func NewExplainCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	var recursive bool
	cmd := &cobra.Command{
		Use:   "explain TYPE [--recursive=FALSE|TRUE] [--api-version=api-version-group] [-o|--output=plaintext|plaintext-openapiv2]",
		Short: "Get documentation for a resource",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("You must specify the type of resource to explain. Use \"kubectl api-resources\" for a complete list of supported resources.")
			}
			parts := strings.Split(args[0], ".")
			res, err := resource.Lookup(parts[0])
			if err != nil {
				return err
			}
			md := res.New().ProtoReflect().Descriptor()
			fmt.Fprintf(s.Out, "KIND:       %s\n", res.Kind)
			gv := res.GroupVersion()
			if res.Group != "" {
				fmt.Fprintf(s.Out, "GROUP:      %s\n", res.Group)
			}
			fmt.Fprintf(s.Out, "VERSION:    %s\n\n", strings.TrimPrefix(gv, res.Group+"/"))
			var field protoreflect.FieldDescriptor
			for i, p := range parts[1:] {
				if md == nil {
					return fmt.Errorf("field %q does not exist", strings.Join(parts[1:i+2], "."))
				}
				fd := byJSONName(md, p)
				if fd == nil {
					return fmt.Errorf("field %q does not exist", strings.Join(parts[1:i+2], "."))
				}
				field = fd
				md = fd.Message()
				if fd.IsMap() {
					md = nil
				}
				if md != nil && isScalarMessage(md) {
					md = nil
				}
			}
			if field != nil {
				fmt.Fprintf(s.Out, "FIELD: %s <%s>\n\n", field.JSONName(), typeName(field))
			}
			fmt.Fprintln(s.Out, "DESCRIPTION:")
			if field == nil {
				fmt.Fprintf(s.Out, "    %s is a %s resource (%s).\n", res.Kind, gv, res.Resource)
			} else {
				fmt.Fprintf(s.Out, "    <no description>\n")
			}
			if md == nil {
				return nil
			}
			fmt.Fprintln(s.Out, "    ")
			fmt.Fprintln(s.Out, "FIELDS:")
			if field == nil {
				fmt.Fprintf(s.Out, "  apiVersion\t<string>\n")
				fmt.Fprintf(s.Out, "  kind\t<string>\n")
			}
			writeFields(s, md, 1, recursive, map[protoreflect.FullName]bool{})
			return nil
		},
	}
	cmd.Flags().BoolVar(&recursive, "recursive", false, "When true, print the name of all the fields recursively.")
	cmd.Flags().String("api-version", "", "Use given api-version (group/version) of the resource.")
	cmd.Flags().StringP("output", "o", "plaintext", "Format in which to render the schema.")
	return cmd
}

func byJSONName(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	fs := md.Fields()
	for i := 0; i < fs.Len(); i++ {
		if fs.Get(i).JSONName() == name {
			return fs.Get(i)
		}
	}
	return nil
}

// isScalarMessage: messages that are scalars in JSON (Quantity, IntOrString, Time).
func isScalarMessage(md protoreflect.MessageDescriptor) bool {
	switch md.Name() {
	case "Quantity", "IntOrString", "Time", "MicroTime":
		return true
	}
	return false
}

func typeName(fd protoreflect.FieldDescriptor) string {
	if fd.IsMap() {
		return "map[string]" + scalarName(fd.MapValue())
	}
	t := scalarName(fd)
	if fd.IsList() {
		return "[]" + t
	}
	return t
}

func scalarName(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.StringKind, protoreflect.EnumKind:
		return "string"
	case protoreflect.BoolKind:
		return "boolean"
	case protoreflect.BytesKind:
		return "string"
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return "number"
	case protoreflect.MessageKind, protoreflect.GroupKind:
		switch fd.Message().Name() {
		case "Time", "MicroTime":
			return "string"
		case "Quantity", "IntOrString":
			return string(fd.Message().Name())
		}
		return string(fd.Message().Name())
	}
	return "integer"
}

func writeFields(s connection.Streams, md protoreflect.MessageDescriptor, level int, recursive bool, seen map[protoreflect.FullName]bool) {
	fs := md.Fields()
	var names []protoreflect.FieldDescriptor
	for i := 0; i < fs.Len(); i++ {
		names = append(names, fs.Get(i))
	}
	sort.Slice(names, func(i, j int) bool { return names[i].JSONName() < names[j].JSONName() })
	for _, fd := range names {
		fmt.Fprintf(s.Out, "%s%s\t<%s>\n", strings.Repeat("  ", level), fd.JSONName(), typeName(fd))
		if recursive && fd.Kind() == protoreflect.MessageKind && !fd.IsMap() && !isScalarMessage(fd.Message()) && !seen[fd.Message().FullName()] {
			seen[fd.Message().FullName()] = true
			writeFields(s, fd.Message(), level+1, recursive, seen)
			delete(seen, fd.Message().FullName())
		}
	}
}
