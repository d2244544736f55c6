/**
 * A long model reply in markdown, of an exact size: sections with a heading,
 * paragraphs with inline markup and links, a list, a fenced code block, a
 * table and a quote, numbered so that no two sections are alike. ASCII only, so
 * its length in bytes is its length in characters.
 */
export function markdownReply(bytes: number): string {
  let out = '';
  for (let i = 1; out.length < bytes; i++) out += section(i);
  return out.slice(0, bytes);
}

function section(i: number): string {
  return [
    `### Part ${i}: what to check`,
    '',
    `Step ${i} looks at the **input** and the *output* together, calls \`check_${i}()\` and keeps`,
    `the result. See [the guide](https://example.com/guide/${i}) for details; the numbers are`,
    `${i * 3}, ${i * 7} and ${i * 11}, which is ~~wrong~~ right for this case.`,
    '',
    `- first, read the value of \`x${i}\``,
    `- then compare it with ${i + 1}`,
    '- last, write it back',
    '',
    '```rust',
    `fn check_${i}(x: u32) -> bool {`,
    `    x % ${(i % 9) + 2} == 0`,
    '}',
    '```',
    '',
    '| case | value |',
    '|---|--:|',
    `| a${i} | ${i * 13} |`,
    `| b${i} | ${i * 17} |`,
    '',
    `> Note ${i}: keep the old value until the new one is checked.`,
    '',
    '',
  ].join('\n');
}
