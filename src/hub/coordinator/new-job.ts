import { randomUUID } from "node:crypto";
import type { Job, OpenJobRequest } from "../ports.js";

/** A fresh job for `request` with a new id (a reopened job gets a new id, hence a new win lock). */
export function newJob(request: OpenJobRequest, openedAt: number): Job {
  const { hash, type, difficulty, service } = request;
  return { id: randomUUID(), hash, type, difficulty, service, openedAt };
}
