// Scenario objects are created once: one that exists already (a second apply, a restart) is left as it is.
import { isAlreadyExists, type KubeClient } from '../../k8s/client.js';

export async function createIgnoringExisting(client: KubeClient, path: string, object: unknown) {
  try {
    return await client.create(path, object);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    return undefined;
  }
}
