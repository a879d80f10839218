#!/usr/bin/env node
// The `kodiak` command: runs the TypeScript command line through tsx's loader.
import { register } from 'tsx/esm/api';
register();
await import('../cli/main.ts');
