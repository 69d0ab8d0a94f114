/**
 * Agent-like records for P6: the messages of a conversation and the results of its tool calls, as an
 * agent framework would keep them. JSON with the same field names on every record, English sentences,
 * tool names, ids and timestamps, drawn from a seeded PRNG, so that every run stores the same bytes and
 * they compress about as well as a real agent's history does (better than random bytes, worse than one
 * value repeated). P7 uses the profiles at the end, of the same vocabulary.
 */
import { rng } from './harness.js';

type Random = () => number;

const SUBJECTS = [
  'the flight', 'your order', 'the report', 'this invoice', 'the meeting', 'the customer', 'the weather',
  'the deployment', 'the query', 'the hotel', 'the budget', 'the ticket', 'the contract', 'my account',
  'the dashboard', 'the summary', 'the draft', 'the search', 'the refund', 'the schedule',
];
const VERBS = [
  'is scheduled for', 'was moved to', 'needs a review before', 'depends on', 'should be ready by',
  'was cancelled after', 'will cost less than', 'looks different from', 'was updated with', 'matches',
];
const OBJECTS = [
  'next Tuesday', 'the end of the quarter', 'the previous version', 'the numbers you sent', 'tomorrow morning',
  'the team in Berlin', 'the latest data', 'the original estimate', 'three other options', 'the policy',
  'the first draft', 'the approved plan', 'a short delay', 'the same supplier', 'your last message',
];
const OPENERS = [
  'Sure, ', 'I checked and ', 'Thanks! ', 'Quick question: ', 'Got it, ', 'It seems that ', 'According to the results, ',
  'Let me look into that. ', 'Good news: ', 'Unfortunately ', '',
];
const TOOLS = ['web_search', 'get_weather', 'search_flights', 'read_file', 'run_sql', 'send_email', 'calendar_lookup', 'fetch_url'];
const CITIES = ['Lisbon', 'Berlin', 'Tokyo', 'Austin', 'Nairobi', 'Toronto', 'Madrid', 'Seoul', 'Oslo', 'Lima'];
const STATUSES = ['ok', 'ok', 'ok', 'ok', 'error', 'timeout'];
const ID_CHARS = '0123456789abcdefghijklmnopqrstuvwxyz';

const pick = <T>(random: Random, items: readonly T[]): T => items[(random() * items.length) | 0];

function id(random: Random, prefix: string, length = 10): string {
  let text = prefix;
  for (let i = 0; i < length; i++) text += ID_CHARS[(random() * ID_CHARS.length) | 0];
  return text;
}

function sentence(random: Random): string {
  const text = `${pick(random, SUBJECTS)} ${pick(random, VERBS)} ${pick(random, OBJECTS)}.`;
  const opener = pick(random, OPENERS);
  return opener === '' ? text[0].toUpperCase() + text.slice(1) : opener + text;
}

function sentences(random: Random, count: number): string {
  return Array.from({ length: count }, () => sentence(random)).join(' ');
}

const BASE_TIME = Date.UTC(2026, 10, 1);

/** The `index`th entry of an agent's history (`turn` is its place in the conversation). */
export function agentRecord(index: number, turn: number): Record<string, unknown> {
  const random = rng(index * 7919 + 17);
  const ts = BASE_TIME + index * 1_337;
  const kind = turn % 4;
  if (kind === 0) {
    return { role: 'user', id: id(random, 'msg_'), turn, content: sentences(random, 1 + ((random() * 2) | 0)), ts };
  }
  if (kind === 1) {
    const tool = pick(random, TOOLS);
    return {
      role: 'assistant',
      id: id(random, 'msg_'),
      turn,
      content: sentence(random),
      toolCalls: [{ id: id(random, 'call_', 8), name: tool, args: { query: pick(random, SUBJECTS), city: pick(random, CITIES) } }],
      ts,
    };
  }
  if (kind === 2) {
    const status = pick(random, STATUSES);
    return {
      role: 'tool',
      toolCallId: id(random, 'call_', 8),
      name: pick(random, TOOLS),
      status,
      result: status === 'ok' ? { items: 1 + ((random() * 5) | 0), text: sentence(random) } : { error: `${pick(random, TOOLS)} ${status}` },
      latencyMs: 20 + ((random() * 900) | 0),
      ts,
    };
  }
  return { role: 'assistant', id: id(random, 'msg_'), turn, content: sentences(random, 2), tokens: { in: 200 + ((random() * 4000) | 0), out: 20 + ((random() * 400) | 0) }, ts };
}

/** The key an agent's `turn`th entry is stored under. */
export const agentRecordKey = (turn: number): string => `history/${String(turn).padStart(4, '0')}`;

const FIRST_NAMES = ['Ada', 'Alan', 'Grace', 'Maria', 'Kenji', 'Amara', 'Lucas', 'Ingrid', 'Ravi', 'Sofia', 'Tomás', 'Yuki', 'Omar', 'Elena', 'Noah', 'Priya'];
const LAST_NAMES = ['Lovelace', 'Turing', 'Hopper', 'Silva', 'Tanaka', 'Okafor', 'Moreau', 'Larsen', 'Iyer', 'Rossi', 'García', 'Sato', 'Haddad', 'Petrova', 'Smith', 'Nair'];

/**
 * A profile an agent keeps of a person it deals with, of about 200 B of JSON: six fields, the age still a
 * string of digits as an older version of an application would have stored it (P7 migrates it).
 */
export function agentProfile(index: number): { id: string; name: string; age: string; city: string; bio: string; updatedAt: number } {
  const random = rng(index * 104_729 + 3);
  return {
    id: id(random, 'usr_'),
    name: `${pick(random, FIRST_NAMES)} ${pick(random, LAST_NAMES)}`,
    age: String(18 + ((random() * 70) | 0)),
    city: pick(random, CITIES),
    bio: sentences(random, 1 + ((random() * 2) | 0)),
    updatedAt: BASE_TIME + index * 1_337,
  };
}
