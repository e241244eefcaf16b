// `npm run openapi`: writes the OpenAPI document to docs/openapi.json (or the path given), the file a
// test keeps identical to what GET /openapi.json serves.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { openApiText } from './openapi.js';

const target = process.argv[2] ?? path.resolve(__dirname, '..', '..', '..', 'docs', 'openapi.json');
writeFileSync(target, openApiText());
process.stdout.write(`wrote ${target}\n`);
