// The part of Go's text/template that Fulcio's ci-provider claim templates use, over a map of
// claim strings with missingkey=error: `{{ .claim }}`, `{{ index . "a/b" }}`, `{{ if eq X "v" }}`
// ... `{{ else }}` ... `{{ end }}`, plus Fulcio's rule that a template without `{{` names a claim.

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

type Value = string | number | boolean | ReadonlyMap<string, string> | undefined;

type Expr =
  | { kind: 'dot' }
  | { kind: 'field'; name: string }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'call'; fn: string; args: Expr[] };

type Node = { kind: 'text'; text: string } | { kind: 'output'; expr: Expr } | { kind: 'if'; cond: Expr; then: Node[]; else: Node[] };

const FUNCTIONS = new Set(['index', 'eq', 'ne', 'not', 'and', 'or']);

export interface CompiledTemplate {
  readonly source: string;
  /** False when the source has no `{{`: Fulcio then reads it as the name of a claim. */
  readonly isTemplate: boolean;
  execute(data: ReadonlyMap<string, string>): string;
}

/** Parses `source` now (as Fulcio's CheckParseTemplates does at startup); throws TemplateError. */
export function compileTemplate(source: string): CompiledTemplate {
  if (!source.includes('{{')) {
    return {
      source,
      isTemplate: false,
      execute(data) {
        const value = data.get(source);
        if (value === undefined) throw new TemplateError(`value <${source}> not present in either claims or defaults`);
        return value;
      },
    };
  }
  const nodes = parse(source);
  return { source, isTemplate: true, execute: (data) => render(nodes, data) };
}

// ---------------------------------------------------------------------------------------------
// Parsing

interface Action {
  kind: 'action';
  body: string;
}

function split(source: string): (string | Action)[] {
  const parts: (string | Action)[] = [];
  let pos = 0;
  let trimNextText = false;
  while (pos < source.length) {
    const open = source.indexOf('{{', pos);
    let text = open < 0 ? source.slice(pos) : source.slice(pos, open);
    if (trimNextText) text = text.replace(/^\s+/, '');
    trimNextText = false;
    if (open < 0) {
      if (text) parts.push(text);
      break;
    }
    const close = findClose(source, open + 2);
    let body = source.slice(open + 2, close);
    if (/^-\s/.test(body)) {
      text = text.replace(/\s+$/, '');
      body = body.slice(1);
    }
    if (/\s-$/.test(body)) {
      trimNextText = true;
      body = body.slice(0, -1);
    }
    if (text) parts.push(text);
    parts.push({ kind: 'action', body: body.trim() });
    pos = close + 2;
  }
  return parts;
}

/** Index of the `}}` closing the action that starts at `from`, skipping quoted strings. */
function findClose(source: string, from: number): number {
  let i = from;
  while (i < source.length) {
    const c = source[i];
    if (c === '"' || c === '`') {
      const end = c === '"' ? closingQuote(source, i) : source.indexOf('`', i + 1);
      if (end < 0) throw new TemplateError(`unterminated string in template ${JSON.stringify(source)}`);
      i = end + 1;
      continue;
    }
    if (source.startsWith('}}', i)) return i;
    i++;
  }
  throw new TemplateError(`unclosed action ("{{" without "}}") in template ${JSON.stringify(source)}`);
}

function closingQuote(s: string, start: number): number {
  for (let i = start + 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i;
  }
  return -1;
}

type Token = { t: 'lparen' } | { t: 'rparen' } | { t: 'dot' } | { t: 'field'; name: string } | { t: 'string'; value: string } | { t: 'number'; value: number } | { t: 'ident'; name: string };

function lex(body: string, source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (what: string) => new TemplateError(`${what} in template ${JSON.stringify(source)}`);
  while (i < body.length) {
    const c = body[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(') {
      tokens.push({ t: 'lparen' });
      i++;
    } else if (c === ')') {
      tokens.push({ t: 'rparen' });
      i++;
    } else if (c === '"') {
      const end = closingQuote(body, i);
      if (end < 0) throw fail('unterminated string');
      try {
        tokens.push({ t: 'string', value: JSON.parse(body.slice(i, end + 1)) as string });
      } catch {
        throw fail(`bad string literal ${body.slice(i, end + 1)}`);
      }
      i = end + 1;
    } else if (c === '`') {
      const end = body.indexOf('`', i + 1);
      if (end < 0) throw fail('unterminated raw string');
      tokens.push({ t: 'string', value: body.slice(i + 1, end) });
      i = end + 1;
    } else if (c === '.') {
      const m = /^\.([A-Za-z_][A-Za-z0-9_]*)/.exec(body.slice(i));
      if (m) {
        if (body[i + m[0].length] === '.') throw fail(`chained field access ${m[0]}.… (claims are strings)`);
        tokens.push({ t: 'field', name: m[1]! });
        i += m[0].length;
      } else {
        tokens.push({ t: 'dot' });
        i++;
      }
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?[0-9]+/.exec(body.slice(i));
      if (!m) throw fail(`unexpected "${c}"`);
      tokens.push({ t: 'number', value: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(body.slice(i))!;
      tokens.push({ t: 'ident', name: m[0] });
      i += m[0].length;
    } else if (c === '|') {
      throw fail('pipelines ("|") are not supported');
    } else {
      throw fail(`unexpected "${c}"`);
    }
  }
  return tokens;
}

class ExprParser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  private fail(what: string): TemplateError {
    return new TemplateError(`${what} in template ${JSON.stringify(this.source)}`);
  }

  /** A whole command: the rest of the action. */
  parseCommand(): Expr {
    const expr = this.command(false);
    if (this.pos !== this.tokens.length) throw this.fail('unexpected tokens after the expression');
    return expr;
  }

  private command(inParens: boolean): Expr {
    const first = this.tokens[this.pos];
    if (!first) throw this.fail('missing value');
    if (first.t === 'ident' && FUNCTIONS.has(first.name)) {
      this.pos++;
      const args: Expr[] = [];
      while (this.pos < this.tokens.length && this.tokens[this.pos]!.t !== 'rparen') args.push(this.operand());
      if (!inParens && this.pos < this.tokens.length) throw this.fail('unexpected ")"');
      const arity: Record<string, [number, number]> = { index: [2, Infinity], eq: [2, Infinity], ne: [2, 2], not: [1, 1], and: [1, Infinity], or: [1, Infinity] };
      const [min, max] = arity[first.name]!;
      if (args.length < min || args.length > max) throw this.fail(`wrong number of arguments for ${first.name}`);
      return { kind: 'call', fn: first.name, args };
    }
    const value = this.operand();
    if (this.pos < this.tokens.length && this.tokens[this.pos]!.t !== 'rparen') throw this.fail('a value cannot take arguments');
    return value;
  }

  private operand(): Expr {
    const token = this.tokens[this.pos++];
    if (!token) throw this.fail('missing value');
    switch (token.t) {
      case 'dot':
        return { kind: 'dot' };
      case 'field':
        return { kind: 'field', name: token.name };
      case 'string':
        return { kind: 'string', value: token.value };
      case 'number':
        return { kind: 'number', value: token.value };
      case 'lparen': {
        const inner = this.command(true);
        if (this.tokens[this.pos]?.t !== 'rparen') throw this.fail('unclosed "("');
        this.pos++;
        return inner;
      }
      case 'ident':
        if (token.name === 'true' || token.name === 'false') return { kind: 'bool', value: token.name === 'true' };
        if (FUNCTIONS.has(token.name)) throw this.fail(`function ${token.name} used as a value (wrap it in parentheses)`);
        throw this.fail(`unknown function "${token.name}" (supported: ${[...FUNCTIONS].join(', ')})`);
      case 'rparen':
        throw this.fail('unexpected ")"');
    }
  }
}

function parse(source: string): Node[] {
  const root: Node[] = [];
  // Open `if` blocks: where their nodes go, and whether we are in the else branch.
  const stack: { node: Extract<Node, { kind: 'if' }>; inElse: boolean; chained: boolean }[] = [];
  const target = (): Node[] => {
    const top = stack[stack.length - 1];
    return top ? (top.inElse ? top.node.else : top.node.then) : root;
  };
  for (const part of split(source)) {
    if (typeof part === 'string') {
      target().push({ kind: 'text', text: part });
      continue;
    }
    const body = part.body;
    if (body.startsWith('/*')) {
      if (!body.endsWith('*/')) throw new TemplateError(`unclosed comment in template ${JSON.stringify(source)}`);
      continue;
    }
    const tokens = lex(body, source);
    const head = tokens[0];
    if (head?.t === 'ident' && head.name === 'if') {
      const node: Extract<Node, { kind: 'if' }> = { kind: 'if', cond: new ExprParser(tokens.slice(1), source).parseCommand(), then: [], else: [] };
      target().push(node);
      stack.push({ node, inElse: false, chained: false });
    } else if (head?.t === 'ident' && head.name === 'else') {
      const top = stack[stack.length - 1];
      if (!top || top.inElse) throw new TemplateError(`unexpected {{else}} in template ${JSON.stringify(source)}`);
      top.inElse = true;
      if (tokens.length > 1) {
        const next = tokens[1];
        if (!(next?.t === 'ident' && next.name === 'if')) throw new TemplateError(`unexpected tokens after else in template ${JSON.stringify(source)}`);
        // {{else if X}} opens a nested if that the same {{end}} closes.
        const node: Extract<Node, { kind: 'if' }> = { kind: 'if', cond: new ExprParser(tokens.slice(2), source).parseCommand(), then: [], else: [] };
        top.node.else.push(node);
        stack.push({ node, inElse: false, chained: true });
      }
    } else if (head?.t === 'ident' && head.name === 'end') {
      if (tokens.length !== 1 || stack.length === 0) throw new TemplateError(`unexpected {{end}} in template ${JSON.stringify(source)}`);
      // Pop chained else-ifs, then the if that opened the chain.
      while (stack.length > 0 && stack[stack.length - 1]!.chained) stack.pop();
      stack.pop();
    } else if (head?.t === 'ident' && ['range', 'with', 'define', 'template', 'block', 'break', 'continue'].includes(head.name)) {
      throw new TemplateError(`{{${head.name}}} is not supported in claim templates: ${JSON.stringify(source)}`);
    } else {
      if (tokens.length === 0) throw new TemplateError(`empty action {{}} in template ${JSON.stringify(source)}`);
      target().push({ kind: 'output', expr: new ExprParser(tokens, source).parseCommand() });
    }
  }
  if (stack.length > 0) throw new TemplateError(`unexpected end of template (missing {{end}}): ${JSON.stringify(source)}`);
  return root;
}

// ---------------------------------------------------------------------------------------------
// Execution

function truthy(value: Value): boolean {
  if (value === undefined) return false;
  if (typeof value === 'string') return value.length > 0;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'boolean') return value;
  return value.size > 0;
}

function evaluate(expr: Expr, data: ReadonlyMap<string, string>): Value {
  switch (expr.kind) {
    case 'dot':
      return data;
    case 'field': {
      const value = data.get(expr.name);
      if (value === undefined) throw new TemplateError(`map has no entry for key "${expr.name}"`);
      return value;
    }
    case 'string':
    case 'number':
    case 'bool':
      return expr.value;
    case 'call': {
      const args = expr.args.map((arg) => evaluate(arg, data));
      switch (expr.fn) {
        case 'index': {
          let current: Value = args[0];
          for (const key of args.slice(1)) {
            if (!(current instanceof Map)) throw new TemplateError('index of a non-map value');
            if (typeof key !== 'string') throw new TemplateError('index of a map with a non-string key');
            // A missing key yields the zero value, as Go's index does for maps.
            current = (current as ReadonlyMap<string, string>).get(key) ?? '';
          }
          return current;
        }
        case 'eq':
        case 'ne': {
          for (const a of args) if (a instanceof Map) throw new TemplateError(`${expr.fn}: cannot compare a map`);
          const equal = args.slice(1).some((other) => {
            if (typeof other !== typeof args[0]) throw new TemplateError(`${expr.fn}: incompatible types for comparison`);
            return other === args[0];
          });
          return expr.fn === 'eq' ? equal : !equal;
        }
        case 'not':
          return !truthy(args[0]);
        case 'and': {
          for (const a of args) if (!truthy(a)) return a;
          return args[args.length - 1];
        }
        case 'or': {
          for (const a of args) if (truthy(a)) return a;
          return args[args.length - 1];
        }
      }
      throw new TemplateError(`unknown function ${expr.fn}`);
    }
  }
}

function render(nodes: readonly Node[], data: ReadonlyMap<string, string>): string {
  let out = '';
  for (const node of nodes) {
    if (node.kind === 'text') out += node.text;
    else if (node.kind === 'if') out += render(truthy(evaluate(node.cond, data)) ? node.then : node.else, data);
    else {
      const value = evaluate(node.expr, data);
      if (value instanceof Map) throw new TemplateError('cannot print the whole claim map');
      out += value === undefined ? '<no value>' : String(value);
    }
  }
  return out;
}
