// The dispatch table: operation name -> handler. Adding an operation is one
// handler here and its types in protocol/messages.ts.
import type { OperationName } from '@rag-session-host/client/shared'
import { appendMessage, getHistory } from './history.js'
import type { Operation } from './operation.js'
import { endSession, ping, sessionInfo } from './session.js'
import { clearVectors, deleteVectors, searchVectors, uploadVectors } from './vectors.js'

export const OPERATIONS: Readonly<Record<OperationName, Operation>> = {
  uploadVectors,
  searchVectors,
  deleteVectors,
  clearVectors,
  appendMessage,
  getHistory,
  sessionInfo,
  endSession,
  ping,
}

export function findOperation(type: string): Operation | undefined {
  return Object.hasOwn(OPERATIONS, type) ? OPERATIONS[type as OperationName] : undefined
}

export type { Operation, OperationContext } from './operation.js'
