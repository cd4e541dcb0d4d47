#!/usr/bin/env node
// Process entry of the `fjord` command (bin/fjord.js and `npm start` run this).
import { main } from './app.js';

const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
