import { addressToPublicKey, publicKeyToAddress } from "../nano/account.js";
import { hashStateBlock, type StateBlock, signStateBlock, workRoot } from "../nano/block.js";
import { bytesToHex, formatHash, formatU64 } from "../nano/hex.js";
import { publicKeyFromSecretKey } from "../nano/keys.js";
import type { WorkBackend } from "../pow/backend.js";
import { hashField, type NodeRpc, NodeRpcError, rawField } from "./node-rpc.js";
import { InsufficientBalanceError, type Payer, type StoreForPayer } from "./payer.js";
import type { StoredItem } from "./ports.js";

/** What the key payer needs from a work engine (the local CPU pool or a remote work server). */
export type WorkSource = Pick<WorkBackend, "generate" | "close">;

/** The node's answers that mean "this exact block is already in the ledger". */
const ALREADY_PRESENT = /^old block$/i;
/** The block's place in the chain is taken by another block: ours was never accepted. */
const DISPLACED = /^(fork|gap previous block)$/i;

/**
 * Pays by building and signing send blocks with the hub's own key and publishing them with
 * `process`. Each signed block is saved before it is published; a resumed run republishes that
 * same block, and the node's "Old block" for it counts as paid. So a block is never re-signed
 * differently while the first one could still be accepted.
 */
export class KeyPayer implements Payer {
  readonly source: string;

  constructor(
    private readonly rpc: NodeRpc,
    private readonly store: StoreForPayer,
    private readonly secretKey: Uint8Array,
    private readonly work: WorkSource,
    private readonly threshold: bigint,
  ) {
    this.source = publicKeyToAddress(publicKeyFromSecretKey(secretKey));
  }

  get identity(): string {
    return `the key of ${this.source}`;
  }

  async pay(planId: string, item: StoredItem): Promise<string> {
    if (item.blockJson && item.blockHash) {
      const hash = await this.republish(item.blockHash, JSON.parse(item.blockJson));
      if (hash) {
        await this.store.recordPayment(planId, item.worker, hash);
        return hash;
      }
      await this.store.clearBlock(planId, item.worker, item.blockHash);
    }
    const block = await this.buildSend(item);
    const hash = formatHash(hashStateBlock(block));
    await this.store.markSending(planId, item.worker, { hash, json: JSON.stringify(block) });
    const published = await this.republish(hash, block);
    if (!published)
      throw new NodeRpcError("process", "Fork (the source account changed while paying; run again)");
    await this.store.recordPayment(planId, item.worker, published);
    return published;
  }

  /** Publishes `block`; its hash when it is (now or already) in the ledger, null when it never can be. */
  private async republish(hash: string, block: StateBlock): Promise<string | null> {
    try {
      const answer = await this.rpc.call("process", {
        json_block: "true",
        subtype: "send",
        block: { type: "state", ...block },
      });
      return hashField(answer, "hash", "process");
    } catch (err) {
      if (!(err instanceof NodeRpcError)) throw err;
      if (ALREADY_PRESENT.test(err.nodeMessage)) return hash;
      if (DISPLACED.test(err.nodeMessage)) return (await this.exists(hash)) ? hash : null;
      throw err;
    }
  }

  private async exists(hash: string): Promise<boolean> {
    try {
      await this.rpc.call("block_info", { hash });
      return true;
    } catch (err) {
      if (err instanceof NodeRpcError && /not found/i.test(err.nodeMessage)) return false;
      throw err;
    }
  }

  private async buildSend(item: StoredItem): Promise<StateBlock> {
    let info: Record<string, unknown>;
    try {
      info = await this.rpc.call("account_info", { account: this.source, representative: "true" });
    } catch (err) {
      if (err instanceof NodeRpcError && /account not found/i.test(err.nodeMessage)) {
        throw new InsufficientBalanceError(`${this.source} has no blocks on the node yet (fund it first)`);
      }
      throw err;
    }
    const balance = rawField(info, "balance", "account_info");
    if (balance < item.amount) {
      throw new InsufficientBalanceError(
        `${this.source} holds ${balance} raw, the payment to ${item.worker} needs ${item.amount} raw`,
      );
    }
    const unsigned: StateBlock = {
      account: this.source,
      previous: hashField(info, "frontier", "account_info"),
      representative: String(info.representative ?? this.source),
      balance: (balance - item.amount).toString(),
      link: bytesToHex(addressToPublicKey(item.worker)).toUpperCase(),
    };
    const signed = signStateBlock(unsigned, this.secretKey);
    const { work } = await this.work.generate(workRoot(unsigned), this.threshold);
    return { ...signed, work: formatU64(work) };
  }

  async close(): Promise<void> {
    await this.work.close();
  }
}
