/**
 * Batches the calls made in one turn of the event loop into one call of `commit`, which answers
 * each item in order; every caller's promise settles with its own answer, or with the batch's error.
 */
export class GroupCommit<Item, Answer> {
  private pending: Array<{ item: Item; resolve(answer: Answer): void; reject(err: unknown): void }> = [];

  constructor(private readonly commit: (items: Item[]) => Promise<Answer[]>) {}

  add(item: Item): Promise<Answer> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => void this.flush());
      this.pending.push({ item, resolve, reject });
    });
  }

  /** Commits what is pending now (close calls it, not to wait for the next turn). */
  async flush(): Promise<void> {
    const batch = this.pending.splice(0);
    if (batch.length === 0) return;
    let answers: Answer[];
    try {
      answers = await this.commit(batch.map(({ item }) => item));
    } catch (err) {
      for (const { reject } of batch) reject(err);
      return;
    }
    for (const [i, { resolve }] of batch.entries()) resolve(answers[i] as Answer);
  }
}
