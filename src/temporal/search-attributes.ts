import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes every abono workflow sets, so operators can find them in the Temporal UI. */
export const CreditId = defineSearchAttributeKey('CreditId', SearchAttributeType.KEYWORD);
export const PaymentId = defineSearchAttributeKey('PaymentId', SearchAttributeType.KEYWORD);
export const OperationStatus = defineSearchAttributeKey('OperationStatus', SearchAttributeType.KEYWORD);
export const OperationKind = defineSearchAttributeKey('OperationKind', SearchAttributeType.KEYWORD);

export const searchAttributeKeys = [CreditId, PaymentId, OperationStatus, OperationKind];

/** As `temporal server start-dev --search-attribute` and `temporal operator search-attribute create` take them. */
export const searchAttributeArgs = searchAttributeKeys.map((k) => `${k.name}=Keyword`);
