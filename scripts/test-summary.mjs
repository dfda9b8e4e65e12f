// A node:test reporter that adds, after the usual one, a short summary: the counts, then every
// skipped test with the reason it gave, and every failed test by name (file:line where known).
// package.json's test script runs it beside the spec reporter.
export default async function* summary(source) {
  const skipped = [];
  const failed = [];
  let passed = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const d = event.data;
    const isSkipped = d.skip !== undefined && d.skip !== false;
    // count tests, not the describe() blocks around them; a skipped block is one skipped entry (its tests do not run)
    if (d.details?.type === 'suite' && !(isSkipped && event.type === 'test:pass')) continue;
    const where = d.file ? `${d.file.replace(/^.*\/dist\//, '')}${d.line ? `:${d.line}` : ''}` : '';
    if (event.type === 'test:fail') failed.push(`${d.name}${where ? `  (${where})` : ''}`);
    else if (isSkipped)
      skipped.push(`${d.details?.type === 'suite' ? 'all of ' : ''}${d.name}: ${d.skip === true ? 'no reason given' : d.skip}${where ? `  (${where})` : ''}`);
    else if (d.todo === undefined || d.todo === false) passed++;
  }
  yield `\n# summary: ${passed} pass, ${failed.length} fail, ${skipped.length} skipped\n`;
  for (const s of skipped) yield `#   skipped  ${s}\n`;
  for (const f of failed) yield `#   FAILED   ${f}\n`;
}
