// Probe hook (bench/probes/p4Threads.ts): P4's no-op hook that also tells the probe which thread it runs
// on, and, when asked over a BroadcastChannel, CPU-profiles its worker thread.
import { readlinkSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { BroadcastChannel } from 'node:worker_threads';

const tid = readlinkSync('/proc/thread-self').split('/').pop();
const channel = new BroadcastChannel('p4-threads');
channel.unref();
let session;
channel.onmessage = ({ data }) => {
  if (data.type === 'hello') channel.postMessage({ type: 'tid', tid });
  if (data.type === 'start') {
    session = new Session();
    session.connect();
    session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start', () => channel.postMessage({ type: 'started', tid }))));
  }
  if (data.type === 'stop') {
    if (session === undefined) return channel.postMessage({ type: 'stopped', tid });
    session.post('Profiler.stop', (error, { profile }) => {
      writeFileSync(`${data.prefix}-worker-${tid}.cpuprofile`, JSON.stringify(profile));
      session.disconnect();
      session = undefined;
      channel.postMessage({ type: 'stopped', tid });
    });
  }
};

export default async function noop() {}
