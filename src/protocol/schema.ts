// Shapes of the generated protocol tables (src/protocol/generated/messages.ts).

/** Inclusive version range; the upper bound 32767 means "and every later version". */
export type VersionRange = readonly [min: number, max: number];

export type PrimitiveType =
  | 'bool' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'float64'
  | 'string' | 'bytes' | 'uuid' | 'records';

export interface FieldSchema {
  readonly name: string;
  /** A primitive, `[]primitive`, `struct` or `[]struct`. */
  readonly type: string;
  readonly versions: VersionRange | null;
  readonly nullable?: VersionRange;
  readonly tag?: number;
  readonly tagged?: VersionRange | null;
  readonly default?: unknown;
  readonly fields?: readonly FieldSchema[];
}

export interface MessageSchema {
  readonly validVersions: VersionRange | null;
  readonly flexibleVersions: VersionRange | null;
  readonly fields: readonly FieldSchema[];
}

export interface ApiSchema {
  readonly apiKey: number;
  readonly name: string;
  readonly listeners: readonly string[];
  readonly request: MessageSchema;
  readonly response: MessageSchema;
}

export const inRange = (range: VersionRange | null | undefined, v: number): boolean =>
  !!range && v >= range[0] && v <= range[1];
