import { isDeepStrictEqual } from 'node:util';
import { Scope } from '../state/Scope.js';
import type { DemoStep } from './demoContext.js';

const RESEARCHER = Scope.agent('researcher');

const backUpAndRestore: DemoStep = {
  title: "Back up, lose the researcher's memory, and restore that scope",
  async run(ctx) {
    const rt = ctx.runtime();
    const backup = await rt.backups.create();
    ctx.say(`backup ${ctx.styles.bold(backup.id)}: ${backup.records} records, ${backup.bytes} bytes (${backup.compression}), as of commit ${backup.seq}, while writes could go on`);
    const removed = await rt.state.clearScope(RESEARCHER);
    ctx.say(`an accident: clearScope(${RESEARCHER}) removed ${removed} keys`);
    const dryRun = await rt.backups.restore({ id: backup.id, scopes: [RESEARCHER], dryRun: true });
    const [plan] = dryRun.changes ?? [];
    ctx.say(`dry run: ${RESEARCHER} would get back ${plan?.added ?? 0} keys (${(plan?.samples.added ?? []).join(', ')}); nothing written`);
    const restored = await rt.backups.restore({ id: backup.id, scopes: [RESEARCHER] });
    ctx.say(`restored only ${RESEARCHER}, after a safety backup (${restored.safetyBackupId}); every other scope is as it was`);
    const expected = ctx.written.get(RESEARCHER.toString())?.values ?? new Map<string, unknown>();
    const fresh = ctx.runtime();
    let same = true;
    for (const [key, value] of expected) same &&= isDeepStrictEqual(await fresh.state.get(RESEARCHER, key), value);
    ctx.check(same && expected.size > 0, `${RESEARCHER} holds its ${expected.size} values again`);
    const verified = await fresh.backups.verify(backup.id);
    ctx.check(verified.records === backup.records, `rt.backups.verify: ${verified.records} records, checksums and structure intact`);
    ctx.say(`the restore stopped the running agents, as a restore does; rt.agents.restore('ada') would bring ada back`);
  },
};

/** Steps that run last, with the store open: a backup and a restore. */
export const BACKUP_STEPS: readonly DemoStep[] = [backUpAndRestore];
