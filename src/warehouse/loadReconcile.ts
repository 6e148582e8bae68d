import { RecountError } from '../errors.ts';
import type { RowsChecksum } from './checksum.ts';
import { formatKey } from './formatKey.ts';
import type { LoadTransaction } from './loadTransaction.ts';
import type { LoadRequest } from './warehouse.ts';

/** What a load's copy left and what the version holds, to reconcile before the load may commit. */
export interface CopyOutcome {
  /** Rows the warehouse says it inserted. */
  readonly inserted: number;
  /** Rows and key checksum of the partition in the table after the copy. */
  readonly actual: RowsChecksum;
  /** Rows and key checksum of the version's files. */
  readonly expected: RowsChecksum;
}

/** The version's files no longer hold the rows its manifest records: it was changed after it was published. */
function filesDifferFromManifest(req: LoadRequest, fileRows: number): RecountError {
  const { source } = req;
  return new RecountError(
    'LOAD_MISMATCH',
    `${source.analyzer} ${source.partition.id} v${source.version}: its files hold ${fileRows} rows but its manifest records ${source.rows}`,
    {
      subject: source.dir,
      hint: 'the version folder was changed after it was published; rerun the partition to publish a new version. Nothing was loaded',
    },
  );
}

/** The table does not hold exactly the version's rows after the copy: something else writes to it. */
async function tableDiffersFromVersion(tx: LoadTransaction, req: LoadRequest, o: CopyOutcome): Promise<RecountError> {
  const { table, source } = req;
  const pid = source.partition.id;
  const dups = await tx.duplicateKeys(table.name, source.partition, source.keys, 5);
  const parts = [
    `it holds ${o.actual.rows} rows after the copy (${o.inserted} inserted), the manifest of v${source.version} records ${source.rows}`,
  ];
  if (o.actual.checksum !== o.expected.checksum) parts.push('the key checksum differs from the version');
  if (dups.keys)
    parts.push(
      `${dups.keys} duplicate key${dups.keys === 1 ? '' : 's'}, e.g. ${dups.sample.map((d) => `${formatKey(d.key)} x${d.count}`).join(', ')}`,
    );
  return new RecountError(
    'LOAD_MISMATCH',
    `reconciliation failed for table ${table.name} partition ${pid}: ${parts.join('; ')}`,
    {
      subject: `${table.name} ${pid}`,
      hint: 'the load was rolled back, so the previous rows stay. Something else writes to this table (a trigger, a rule, another loader): find it',
      details: {
        table: table.name,
        partition: pid,
        version: source.version,
        manifestRows: source.rows,
        tableRows: o.actual.rows,
        inserted: o.inserted,
        expectedChecksum: o.expected.checksum,
        tableChecksum: o.actual.checksum,
        duplicates: dups.sample,
        duplicateKeys: dups.keys,
      },
    },
  );
}

/**
 * Reconcile a copy with the version: the version's files hold the rows its manifest records, and the table's
 * partition holds exactly those rows with the same key checksum. Throws LOAD_MISMATCH otherwise (the caller
 * rolls back, so nothing changes).
 */
export async function assertReconciled(tx: LoadTransaction, req: LoadRequest, o: CopyOutcome): Promise<void> {
  const rows = req.source.rows;
  if (o.expected.rows !== rows) throw filesDifferFromManifest(req, o.expected.rows);
  if (o.inserted !== rows || o.actual.rows !== rows || o.actual.checksum !== o.expected.checksum) {
    throw await tableDiffersFromVersion(tx, req, o);
  }
}
