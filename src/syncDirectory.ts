import { open } from 'node:fs/promises';

/** Makes the entries of `directory` durable (a rename or a new file in it): fsync of the directory itself. */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
