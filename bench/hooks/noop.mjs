// P4's hook: does nothing with its batch of events and returns nothing (bench/p4Hooks.ts).
export default async function noop() {}
