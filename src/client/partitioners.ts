// Partitioners. The default follows Java's: a keyed message goes to
// toPositive(murmur2(keyBytes)) % numPartitions, the same partition Java's and librdkafka's
// (murmur2_random) clients pick, so producers in different languages agree on where a key lives.
// Keyless messages go round-robin, one partition per send call for each topic, so one send
// becomes one batch (a simple form of Java's sticky partitioning).
//
// Partitioners have kafkajs' shape: a factory returning ({ topic, partitionMetadata, message }) => partition.

export interface PartitionerArgs {
  topic: string;
  partitionMetadata: { partitionId: number; leader: number }[];
  message: { key?: Buffer | string | null; partition?: number };
}
export type Partitioner = (args: PartitionerArgs) => number;
export type PartitionerFactory = () => Partitioner;

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (32-bit MurmurHash2 with seed 0x9747b28c) over `data`, as a signed int32. */
export function murmur2(data: Buffer | string): number {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const length = buf.length;
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= buf[whole + 2] << 16;
  if (tail >= 2) h ^= buf[whole + 1] << 8;
  if (tail >= 1) {
    h ^= buf[whole];
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Java's Utils.toPositive: clears the sign bit (not Math.abs). */
export const toPositive = (n: number): number => n & 0x7fffffff;

/** The partition Java's default partitioner assigns `key` among `numPartitions`. */
export function partitionForKey(key: Buffer | string, numPartitions: number): number {
  return toPositive(murmur2(key)) % numPartitions;
}

/** Default: murmur2 for keyed messages, round-robin for keyless ones. */
export const DefaultPartitioner: PartitionerFactory = () => {
  let counter = Math.floor(Math.random() * 0x7fffffff);
  return ({ partitionMetadata, message }) => {
    const n = partitionMetadata.length;
    if (message.key !== null && message.key !== undefined) return partitionForKey(message.key, n);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    const pool = available.length > 0 ? available : partitionMetadata;
    counter = (counter + 1) & 0x7fffffff;
    return pool[counter % pool.length].partitionId;
  };
};

export const JavaCompatiblePartitioner = DefaultPartitioner;

/**
 * The hash of kafkajs 1.x's default partitioner (kafkajs 2.x's LegacyPartitioner): murmur2's
 * steps, but its multiplications are done in floating point, and the word loop runs to
 * ceil(length / 4) reading missing bytes as 0. It places keys differently from Java; it exists so
 * that data partitioned by kafkajs 1.x keeps its key placement.
 */
export function legacyMurmur2(data: Buffer | string): number {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const length = buf.length;
  const byte = (i: number) => (i < length ? buf[i] : 0);
  let h = SEED ^ length;
  for (let i = 0; i < length / 4; i++) {
    const i4 = i * 4;
    let k = byte(i4) + (byte(i4 + 1) << 8) + (byte(i4 + 2) << 16) + (byte(i4 + 3) << 24);
    k *= M;
    k ^= k >>> 24;
    k *= M;
    h *= M;
    h ^= k;
  }
  const tail = length % 4;
  if (tail === 3) h ^= buf[(length & ~3) + 2] << 16;
  if (tail >= 2) h ^= buf[(length & ~3) + 1] << 8;
  if (tail >= 1) {
    h ^= buf[length & ~3];
    h *= M;
  }
  h ^= h >>> 13;
  h *= M;
  h ^= h >>> 15;
  return h;
}

/** kafkajs' LegacyPartitioner: legacyMurmur2 for keys, round-robin otherwise. */
export const LegacyPartitioner: PartitionerFactory = () => {
  let counter = Math.floor(Math.random() * 0x7fffffff);
  return ({ partitionMetadata, message }) => {
    const n = partitionMetadata.length;
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    if (message.key !== null && message.key !== undefined) return toPositive(legacyMurmur2(message.key)) % n;
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    const pool = available.length > 0 ? available : partitionMetadata;
    counter = (counter + 1) & 0x7fffffff;
    return pool[counter % pool.length].partitionId;
  };
};

export const Partitioners = { DefaultPartitioner, JavaCompatiblePartitioner, LegacyPartitioner };
