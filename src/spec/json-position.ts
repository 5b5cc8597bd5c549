// Node 20's JSON.parse often names no position ("Unexpected token '}', … is
// not valid JSON"), so this small recognizer finds where the text goes wrong.

export interface JsonSyntaxProblem {
  offset: number;
  line: number;
  column: number;
  reason: string;
}

class Stop extends Error {
  constructor(readonly offset: number, readonly reason: string) {
    super(reason);
  }
}

const LITERALS = ['true', 'false', 'null'];
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING_BODY = /(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*/y;

function scan(text: string): void {
  let pos = 0;
  const ws = (): void => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos]!)) pos++;
  };
  const fail = (what: string): never => {
    const found = pos < text.length ? `unexpected ${JSON.stringify(text[pos])}` : 'unexpected end of input';
    throw new Stop(pos, `${found}, expected ${what}`);
  };
  const string = (): void => {
    if (text[pos] !== '"') fail('a string');
    STRING_BODY.lastIndex = pos + 1;
    STRING_BODY.exec(text);
    pos = STRING_BODY.lastIndex;
    if (text[pos] !== '"') fail('a closing quote or a valid escape');
    pos++;
  };
  const value = (): void => {
    ws();
    const c = text[pos];
    if (c === '{') return object();
    if (c === '[') return array();
    if (c === '"') return string();
    const literal = LITERALS.find((l) => text.startsWith(l, pos));
    if (literal) {
      pos += literal.length;
      return;
    }
    NUMBER.lastIndex = pos;
    if (NUMBER.exec(text)) pos = NUMBER.lastIndex;
    else fail('a value');
  };
  const object = (): void => {
    pos++;
    ws();
    if (text[pos] === '}') return void pos++;
    for (;;) {
      ws();
      string();
      ws();
      if (text[pos] !== ':') fail('":"');
      pos++;
      value();
      ws();
      if (text[pos] === '}') return void pos++;
      if (text[pos] !== ',') fail('"," or "}"');
      pos++;
    }
  };
  const array = (): void => {
    pos++;
    ws();
    if (text[pos] === ']') return void pos++;
    for (;;) {
      value();
      ws();
      if (text[pos] === ']') return void pos++;
      if (text[pos] !== ',') fail('"," or "]"');
      pos++;
    }
  };
  value();
  ws();
  if (pos < text.length) fail('end of input');
}

/** Where `text` stops being JSON, with 1-based line and column; undefined if it parses. */
export function findJsonSyntaxProblem(text: string): JsonSyntaxProblem | undefined {
  try {
    scan(text);
    return undefined;
  } catch (err) {
    if (!(err instanceof Stop)) return undefined; // e.g. nesting too deep for the stack
    const before = text.slice(0, err.offset).split('\n');
    return { offset: err.offset, line: before.length, column: before[before.length - 1]!.length + 1, reason: err.reason };
  }
}
