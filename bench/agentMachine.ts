import { assign, setup } from 'xstate';

/** A small chat-agent machine: counts messages and keeps the last text. */
export const chatMachine = setup({
  types: { context: {} as { count: number; last: string }, events: {} as { type: 'USER_MESSAGE'; text: string } },
}).createMachine({
  id: 'chat',
  initial: 'listening',
  context: { count: 0, last: '' },
  states: {
    listening: {
      on: { USER_MESSAGE: { actions: assign({ count: ({ context }) => context.count + 1, last: ({ event }) => event.text }) } },
    },
  },
});
