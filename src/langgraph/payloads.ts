import type { SerializerProtocol } from '@langchain/langgraph-checkpoint';

/**
 * A serialised value as a record holds it. The serde's `json` output is kept as the JSON value itself
 * (`{ json }`), so that `llmstate get` and the timeline show it as data; any other type (`bytes`, or a
 * custom serde's own) is kept as `{ type, base64 }` of its bytes.
 */
export type Payload = { readonly json: unknown } | { readonly type: string; readonly base64: string };

const decoder = new TextDecoder();

export async function dumpPayload(serde: SerializerProtocol, value: unknown): Promise<Payload> {
  const [type, bytes] = await serde.dumpsTyped(value);
  if (type === 'json') {
    try {
      return { json: JSON.parse(decoder.decode(bytes)) };
    } catch {
      // A serde that calls its output json but writes something else keeps its bytes.
    }
  }
  return { type, base64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
}

export function loadPayload(serde: SerializerProtocol, payload: Payload): Promise<unknown> {
  if ('json' in payload) return serde.loadsTyped('json', JSON.stringify(payload.json));
  return serde.loadsTyped(payload.type, new Uint8Array(Buffer.from(payload.base64, 'base64')));
}
