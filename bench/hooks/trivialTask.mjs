// P4's raw reference: a trivial piscina task, run by a bare piscina pool with no runtime around it
// (bench/p4Hooks.ts). It returns its input.
export default function trivialTask(input) {
  return input;
}
