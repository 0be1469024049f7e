package labels

import (
	"fmt"
)

// Parse parses a selector in upstream's syntax, e.g.
//
//	app=web,tier!=db,env in (prod,staging),!canary,release
//
// Requirements are comma-separated and all must hold: key=value, key==value, key!=value,
// key in (v1,v2), key notin (v1,v2), key (exists), !key (does not exist), key>n, key<n.
// The empty string selects everything. Errors name the offending token.
func Parse(selector string) (Selector, error) {
	p := &parser{lex: lexer{s: selector}}
	reqs, err := p.parse()
	if err != nil {
		return nil, err
	}
	sortByKey(reqs)
	return reqs, nil
}

type token int

const (
	tokError token = iota
	tokEnd
	tokIdentifier
	tokComma
	tokOpenPar
	tokClosedPar
	tokDoesNotExist // !
	tokEquals       // =
	tokDoubleEquals // ==
	tokNotEquals    // !=
	tokGreaterThan  // >
	tokLessThan     // <
	tokIn           // in
	tokNotIn        // notin
)

type lexer struct {
	s   string
	pos int
}

func isWhitespace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isSpecial(c byte) bool {
	switch c {
	case '=', '!', '(', ')', ',', '>', '<':
		return true
	}
	return false
}

// next returns the next token and its literal text.
func (l *lexer) next() (token, string) {
	for l.pos < len(l.s) && isWhitespace(l.s[l.pos]) {
		l.pos++
	}
	if l.pos >= len(l.s) {
		return tokEnd, ""
	}
	c := l.s[l.pos]
	if isSpecial(c) {
		if l.pos+1 < len(l.s) && l.s[l.pos+1] == '=' && (c == '=' || c == '!') {
			l.pos += 2
			if c == '=' {
				return tokDoubleEquals, "=="
			}
			return tokNotEquals, "!="
		}
		l.pos++
		switch c {
		case '=':
			return tokEquals, "="
		case '!':
			return tokDoesNotExist, "!"
		case '(':
			return tokOpenPar, "("
		case ')':
			return tokClosedPar, ")"
		case ',':
			return tokComma, ","
		case '>':
			return tokGreaterThan, ">"
		default:
			return tokLessThan, "<"
		}
	}
	start := l.pos
	for l.pos < len(l.s) && !isWhitespace(l.s[l.pos]) && !isSpecial(l.s[l.pos]) {
		l.pos++
	}
	lit := l.s[start:l.pos]
	switch lit {
	case "in":
		return tokIn, lit
	case "notin":
		return tokNotIn, lit
	}
	return tokIdentifier, lit
}

type item struct {
	tok token
	lit string
}

// parser reads the whole token stream up front and walks it with lookahead.
type parser struct {
	lex   lexer
	items []item
	pos   int
}

// context decides whether "in" and "notin" are keywords (after a key) or plain
// identifiers (a key or value named "in"), as upstream.
type context int

const (
	ctxKeyAndOperator context = iota
	ctxValues
)

func (p *parser) scan() {
	for {
		t, lit := p.lex.next()
		p.items = append(p.items, item{t, lit})
		if t == tokEnd {
			return
		}
	}
}

func (p *parser) lookahead(ctx context) (token, string) {
	it := p.items[p.pos]
	if ctx == ctxValues && (it.tok == tokIn || it.tok == tokNotIn) {
		return tokIdentifier, it.lit
	}
	return it.tok, it.lit
}

func (p *parser) consume(ctx context) (token, string) {
	t, lit := p.lookahead(ctx)
	if p.pos < len(p.items)-1 {
		p.pos++
	}
	return t, lit
}

func (p *parser) parse() (internalSelector, error) {
	p.scan()
	var reqs internalSelector
	for {
		tok, lit := p.lookahead(ctxValues)
		switch tok {
		case tokIdentifier, tokDoesNotExist:
			r, err := p.parseRequirement()
			if err != nil {
				return nil, fmt.Errorf("unable to parse requirement: %v", err)
			}
			reqs = append(reqs, *r)
			t, l := p.consume(ctxValues)
			switch t {
			case tokEnd:
				return reqs, nil
			case tokComma:
				t2, l2 := p.lookahead(ctxValues)
				if t2 != tokIdentifier && t2 != tokDoesNotExist {
					return nil, fmt.Errorf("found '%s', expected: identifier after ','", l2)
				}
			default:
				return nil, fmt.Errorf("found '%s', expected: ',' or 'end of string'", l)
			}
		case tokEnd:
			return reqs, nil
		default:
			return nil, fmt.Errorf("found '%s', expected: !, identifier, or 'end of string'", lit)
		}
	}
}

func (p *parser) parseRequirement() (*Requirement, error) {
	key, op, err := p.parseKeyAndInferOperator()
	if err != nil {
		return nil, err
	}
	if op == Exists || op == DoesNotExist {
		return NewRequirement(key, op, nil)
	}
	op, err = p.parseOperator()
	if err != nil {
		return nil, err
	}
	var values []string
	switch op {
	case In, NotIn:
		values, err = p.parseValues()
	default:
		values, err = p.parseExactValue()
	}
	if err != nil {
		return nil, err
	}
	return NewRequirement(key, op, values)
}

func (p *parser) parseKeyAndInferOperator() (string, Operator, error) {
	var op Operator
	tok, lit := p.consume(ctxValues)
	if tok == tokDoesNotExist {
		op = DoesNotExist
		tok, lit = p.consume(ctxValues)
	}
	if tok != tokIdentifier {
		return "", "", fmt.Errorf("found '%s', expected: identifier", lit)
	}
	if msgs := ValidateKey(lit); len(msgs) != 0 {
		return "", "", fmt.Errorf("%s", invalid("key", lit, joinMsgs(msgs)))
	}
	if t, _ := p.lookahead(ctxValues); t == tokEnd || t == tokComma {
		if op != DoesNotExist {
			op = Exists
		}
	}
	return lit, op, nil
}

func joinMsgs(msgs []string) string {
	out := ""
	for i, m := range msgs {
		if i > 0 {
			out += "; "
		}
		out += m
	}
	return out
}

func (p *parser) parseOperator() (Operator, error) {
	tok, lit := p.consume(ctxKeyAndOperator)
	switch tok {
	case tokIn:
		return In, nil
	case tokNotIn:
		return NotIn, nil
	case tokEquals:
		return Equals, nil
	case tokDoubleEquals:
		return DoubleEquals, nil
	case tokNotEquals:
		return NotEquals, nil
	case tokGreaterThan:
		return GreaterThan, nil
	case tokLessThan:
		return LessThan, nil
	}
	return "", fmt.Errorf("found '%s', expected: in, notin, =, ==, !=, gt, lt", lit)
}

func (p *parser) parseValues() ([]string, error) {
	tok, lit := p.consume(ctxValues)
	if tok != tokOpenPar {
		return nil, fmt.Errorf("found '%s' expected: '('", lit)
	}
	tok, lit = p.lookahead(ctxValues)
	switch tok {
	case tokIdentifier, tokComma:
		s, err := p.parseIdentifiersList()
		if err != nil {
			return nil, err
		}
		if tok, lit = p.consume(ctxValues); tok != tokClosedPar {
			return nil, fmt.Errorf("found '%s', expected: ')'", lit)
		}
		return s, nil
	case tokClosedPar:
		// "()" is one empty value, as upstream.
		p.consume(ctxValues)
		return []string{""}, nil
	}
	return nil, fmt.Errorf("found '%s', expected: ',', ')' or identifier", lit)
}

// parseIdentifiersList reads "v1,v2" up to (not including) ")"; an empty slot between
// commas is the empty value, as upstream.
func (p *parser) parseIdentifiersList() ([]string, error) {
	var s []string
	for {
		tok, lit := p.consume(ctxValues)
		switch tok {
		case tokIdentifier:
			s = append(s, lit)
			tok2, lit2 := p.lookahead(ctxValues)
			switch tok2 {
			case tokComma:
				continue
			case tokClosedPar:
				return s, nil
			default:
				return nil, fmt.Errorf("found '%s', expected: ',' or ')'", lit2)
			}
		case tokComma:
			if len(s) == 0 {
				s = append(s, "") // "(,"
			}
			tok2, _ := p.lookahead(ctxValues)
			if tok2 == tokClosedPar {
				return append(s, ""), nil // ",)"
			}
			if tok2 == tokComma {
				p.consume(ctxValues)
				s = append(s, "") // ",,"
			}
		default:
			return nil, fmt.Errorf("found '%s', expected: ',', or identifier", lit)
		}
	}
}

func (p *parser) parseExactValue() ([]string, error) {
	if tok, _ := p.lookahead(ctxValues); tok == tokEnd || tok == tokComma {
		return []string{""}, nil
	}
	tok, lit := p.consume(ctxValues)
	if tok == tokIdentifier {
		return []string{lit}, nil
	}
	return nil, fmt.Errorf("found '%s', expected: identifier", lit)
}
