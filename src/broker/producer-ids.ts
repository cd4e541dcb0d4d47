// Hands out producer ids for InitProducerId. Ids come from storage in blocks so a restarted
// broker never reuses one; epochs are tracked per transactional id later (transactions issue).
import type { Storage } from '../storage/types.js';

const BLOCK = 1000;

export class ProducerIdManager {
  private next = 0;
  private end = 0;
  private refill: Promise<void> | null = null;

  constructor(private readonly storage: Storage) {}

  async allocate(): Promise<number> {
    while (this.next >= this.end) {
      if (!this.refill) {
        this.refill = this.storage.allocateProducerIds(BLOCK).then((first) => {
          this.next = first;
          this.end = first + BLOCK;
          this.refill = null;
        });
      }
      await this.refill;
    }
    return this.next++;
  }
}
