import { hashField, type NodeRpc, NodeRpcError } from "./node-rpc.js";
import { InsufficientBalanceError, type Payer, type StoreForPayer } from "./payer.js";
import { paymentId } from "./payment-id.js";
import type { StoredItem } from "./ports.js";

/**
 * Pays through the node's wallet (`send`). The `id` is derived from (plan, worker), so after a
 * crash or a lost answer the retried send returns the block the node already made.
 */
export class WalletPayer implements Payer {
  constructor(
    private readonly rpc: NodeRpc,
    private readonly store: StoreForPayer,
    private readonly wallet: string,
    readonly source: string,
  ) {}

  get identity(): string {
    return `wallet ${this.wallet} from ${this.source}`;
  }

  async pay(planId: string, item: StoredItem): Promise<string> {
    await this.store.markSending(planId, item.worker);
    let answer: Record<string, unknown>;
    try {
      answer = await this.rpc.call("send", {
        wallet: this.wallet,
        source: this.source,
        destination: item.worker,
        amount: item.amount.toString(),
        id: paymentId(planId, item.worker),
      });
    } catch (err) {
      if (err instanceof NodeRpcError && /insufficient balance/i.test(err.nodeMessage)) {
        throw new InsufficientBalanceError(`${this.source} cannot pay ${item.amount} raw to ${item.worker}`);
      }
      throw err;
    }
    const hash = hashField(answer, "block", "send");
    await this.store.recordPayment(planId, item.worker, hash);
    return hash;
  }

  async close(): Promise<void> {}
}
