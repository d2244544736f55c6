// Writes `FILE.gz` (gzip -9) and `FILE.br` (brotli, quality 11) beside each
// file given, for the server to send as is to browsers that accept them
// (tower-http's precompressed files). Node's own zlib: nothing to download, so
// `make run` works offline. Prints each file's sizes: plain, gzip, brotli.
//
// Usage: node scripts/precompress.mjs FILE...
import { readFileSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

for (const file of process.argv.slice(2)) {
  const plain = readFileSync(file);
  const gz = gzipSync(plain, { level: 9 });
  const br = brotliCompressSync(plain, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: plain.length,
    },
  });
  writeFileSync(`${file}.gz`, gz);
  writeFileSync(`${file}.br`, br);
  console.log(`${file}: ${plain.length} bytes, ${gz.length} gzipped, ${br.length} brotli`);
}
