import type { SQL } from "bun";
import type { Chunk } from "./generate";

/**
 * Streams CSV chunks into `table` with `COPY … FROM STDIN` on the connection `sql` (a transaction in
 * which the table was just truncated, so FREEZE applies: the rows land frozen and the first scans of
 * an experiment do not pay for setting hint bits). Returns the row count the server reports.
 */
export async function copyInto(
  sql: SQL,
  table: string,
  columns: readonly string[],
  chunks: Iterable<Chunk>,
  onRows: (rows: number) => void,
): Promise<number> {
  const query = sql.unsafe(`COPY ${table} (${columns.join(", ")}) FROM STDIN (FORMAT csv, FREEZE)`);
  const writer = query.writable().getWriter();
  try {
    for (const chunk of chunks) {
      await writer.write(chunk.text);
      onRows(chunk.rows);
    }
    await writer.close();
  } catch (error) {
    await writer.abort(error).catch(() => {});
    // the query fails with the same error as the stream: it is reported once, from here
    query.catch(() => {});
    throw error;
  }
  const result = await query;
  return result.count ?? 0;
}
