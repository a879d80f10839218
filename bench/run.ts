// `npm run bench [-- name ...]`: runs the named benchmarks (all when none is named). Each
// bench/<name>.ts exports run(args) and prints the table its issue asks for; none asserts.
import fs from 'node:fs';

const BENCHES = ['download', 'train', 'clean', 'quality', 'reliability'];

async function main(): Promise<void> {
  const [first, ...rest] = process.argv.slice(2);
  const names = first ? [first] : BENCHES;
  for (const name of names) {
    if (!BENCHES.includes(name) || !fs.existsSync(new URL(`./${name}.ts`, import.meta.url))) {
      console.error(`unknown benchmark '${name}'; known: ${BENCHES.join(', ')}`);
      process.exitCode = 2;
      return;
    }
    const mod = (await import(`./${name}.js`)) as { run(args: string[]): Promise<void> };
    await mod.run(first ? rest : []);
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
