/** The tokens the scanner produces and the composer reads, named as the reference names them in messages. */
import type { Mark } from "./errors.js";

export const T = {
  StreamStart: 0,
  StreamEnd: 1,
  Directive: 2,
  DocumentStart: 3,
  DocumentEnd: 4,
  BlockSequenceStart: 5,
  BlockMappingStart: 6,
  BlockEnd: 7,
  FlowSequenceStart: 8,
  FlowMappingStart: 9,
  FlowSequenceEnd: 10,
  FlowMappingEnd: 11,
  Key: 12,
  Value: 13,
  BlockEntry: 14,
  FlowEntry: 15,
  Alias: 16,
  Anchor: 17,
  Tag: 18,
  Scalar: 19,
} as const;
export type TokenType = (typeof T)[keyof typeof T];

/** How the reference names each token in messages (`expected <block end>, but found '<scalar>'`). */
const TOKEN_NAMES = [
  "<stream start>",
  "<stream end>",
  "<directive>",
  "<document start>",
  "<document end>",
  "<block sequence start>",
  "<block mapping start>",
  "<block end>",
  "[",
  "{",
  "]",
  "}",
  "?",
  ":",
  "-",
  ",",
  "<alias>",
  "<anchor>",
  "<tag>",
  "<scalar>",
];

export function tokenName(token: Token): string {
  return `'${TOKEN_NAMES[token.type]}'`;
}

const NO_ARGS: readonly string[] = Object.freeze([]);

export class Token {
  constructor(
    readonly type: TokenType,
    readonly start: Mark,
    readonly end: Mark,
    /** Scalar text, anchor/alias name, tag suffix, or directive name. */
    readonly value = "",
    /** Scalars: written without quotes or block indicator (only plain scalars are resolved to numbers etc.). */
    readonly plain = false,
    /** Tags: the handle (`!`, `!!`, `!name!`), or null for verbatim `!<...>` tags. Directives: the arguments. */
    readonly handle: string | null = null,
    readonly args: readonly string[] = NO_ARGS,
  ) {}
}
