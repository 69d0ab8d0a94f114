import { assign, setup } from 'xstate';

/** What the demo's chat agents remember: the machine context that must survive a crash and a restart. */
export interface ChatContext {
  /** USER_MESSAGEs handled so far. */
  count: number;
  /** The text of the last one. */
  last: string | null;
}

export interface UserMessage {
  type: 'USER_MESSAGE';
  text: string;
}

/** The behaviour of the demo's agents: counts USER_MESSAGEs and keeps the last text in its context. */
export const demoChatMachine = setup({
  types: { context: {} as ChatContext, events: {} as UserMessage },
}).createMachine({
  id: 'chat',
  initial: 'listening',
  context: { count: 0, last: null },
  states: {
    listening: {
      on: {
        USER_MESSAGE: { actions: assign({ count: ({ context }) => context.count + 1, last: ({ event }) => event.text }) },
      },
    },
  },
});
