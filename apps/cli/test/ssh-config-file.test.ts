import { describe, expect, it } from 'vitest';
import { addHost, configuredHostNames, hostLinePatterns, removeHost, renderHostBlock, type HostEntry } from '../src/lib/ssh-config-file.js';

const entry: HostEntry = { name: 'gpu1', hostName: '10.0.0.5', user: 'me', port: 2222, identityFile: '/keys/id_ed25519', options: [{ keyword: 'ProxyJump', value: 'gw' }] };

const BLOCK = 'Host gpu1\n  HostName 10.0.0.5\n  User me\n  Port 2222\n  IdentityFile /keys/id_ed25519\n  ProxyJump gw\n';

// Configs with the things editors usually break: comments, blank runs, trailing spaces,
// tabs, `=` separators, a quoted pattern, CRLF endings, no final newline.
const CONFIGS: Record<string, string> = {
  empty: '',
  commented: '# Personal hosts\n\n# the build box\nHost build  \n\tHostName build.example.com\n\tUser ci # trailing\n\n\n# NOTE: keep last\nHost=lab "two words"\n  Port=2200\n',
  crlf: '# header\r\n\r\nHost a\r\n  HostName 10.1.1.1\r\n',
  noFinalNewline: 'Host a\n  HostName 10.1.1.1',
  globalOptions: 'ServerAliveInterval 30\nIdentityFile ~/.ssh/id_rsa\n',
  wildcardLast: 'Host a\n  User x\n\n# defaults for everything\nHost *\n  User nobody\n  ForwardAgent no\n',
};

describe('the SSH config editor', () => {
  it('renders a Host block with every field, quoting a key path with spaces', () => {
    expect(renderHostBlock(entry)).toBe(BLOCK);
    expect(renderHostBlock({ name: 'a', hostName: 'h', identityFile: '/my keys/id' })).toBe('Host a\n  HostName h\n  IdentityFile "/my keys/id"\n');
  });

  it('appends to a file without wildcard sections, after one blank line', () => {
    expect(addHost('Host a\n  HostName x\n', entry)).toBe(`Host a\n  HostName x\n\n${BLOCK}`);
    expect(addHost('', entry)).toBe(BLOCK);
    expect(addHost('Host a\n  HostName x\n\n', entry)).toBe(`Host a\n  HostName x\n\n${BLOCK}`);
  });

  it('adds a newline to a last line that has none before appending', () => {
    expect(addHost(CONFIGS.noFinalNewline ?? '', entry)).toBe(`Host a\n  HostName 10.1.1.1\n\n${BLOCK}`);
  });

  it('writes the block before `Host *`, with the comment that describes `Host *` staying above it', () => {
    const text = CONFIGS.wildcardLast ?? '';
    expect(addHost(text, entry)).toBe(`Host a\n  User x\n\n${BLOCK}\n# defaults for everything\nHost *\n  User nobody\n  ForwardAgent no\n`);
  });

  it('writes the block before a Match section, and after a wildcard that cannot match the name', () => {
    expect(addHost('Host *.corp\n  User c\nMatch all\n  User m\n', entry)).toBe(`Host *.corp\n  User c\n\n${BLOCK}\nMatch all\n  User m\n`);
    expect(addHost('Host * !gpu1\n  User n\n', entry)).toBe(`Host * !gpu1\n  User n\n\n${BLOCK}`);
  });

  it('keeps CRLF line endings', () => {
    expect(addHost(CONFIGS.crlf ?? '', { name: 'b', hostName: 'h' })).toBe('# header\r\n\r\nHost a\r\n  HostName 10.1.1.1\r\n\r\nHost b\r\n  HostName h\r\n');
  });

  for (const [name, text] of Object.entries(CONFIGS)) {
    it(`add then remove gives back the ${name} config byte for byte`, () => {
      const added = addHost(text, entry);
      expect(added).toContain(BLOCK.replaceAll('\n', text.includes('\r\n') ? '\r\n' : '\n'));
      const removed = removeHost(added, 'gpu1');
      expect(removed.removedBlocks).toBe(1);
      // A file without a final newline gets one: the only byte that may change.
      expect(removed.text).toBe(name === 'noFinalNewline' ? `${text}\n` : text);
    });
  }

  it('removes a middle block with its own comment, keeping the next block and its comment', () => {
    const text = '# a\nHost a\n  HostName 1\n\n# b\nHost b\n  HostName 2\n\n# c\nHost c\n  HostName 3\n';
    expect(removeHost(text, 'b').text).toBe('# a\nHost a\n  HostName 1\n\n# c\nHost c\n  HostName 3\n');
    expect(removeHost(text, 'a').text).toBe('# b\nHost b\n  HostName 2\n\n# c\nHost c\n  HostName 3\n');
  });

  it('keeps indented comments inside the removed block out of the result and leaves other hosts alone', () => {
    const text = 'Host a\n  HostName 1\n  # old: Port 22\n\nHost b\n  HostName 2\n';
    expect(removeHost(text, 'a').text).toBe('Host b\n  HostName 2\n');
  });

  it('takes only the name out of a Host line that names other hosts too', () => {
    const result = removeHost('Host a b\n  User x\n', 'a');
    expect(result).toEqual({ text: 'Host b\n  User x\n', removedBlocks: 0, editedLines: 1 });
  });

  it('removes every block of a name that appears twice', () => {
    expect(removeHost('Host a\n  User x\n\nHost b\n  User y\n\nHost a\n  Port 2\n', 'a')).toEqual({ text: 'Host b\n  User y\n', removedBlocks: 2, editedLines: 0 });
  });

  it('changes nothing for a name that is not there, nor for a wildcard that would match it', () => {
    const text = CONFIGS.commented ?? '';
    expect(removeHost(text, 'nope')).toEqual({ text, removedBlocks: 0, editedLines: 0 });
    expect(removeHost('Host *\n  User x\n', 'a').removedBlocks).toBe(0);
  });

  it('reads Host patterns as OpenSSH does: quotes, `=` and a trailing comment', () => {
    expect(hostLinePatterns('Host=lab "two words"')).toEqual(['lab', 'two words']);
    expect(hostLinePatterns('  host a b # comment')).toEqual(['a', 'b']);
  });

  it('lists the hosts named one by one, leaving out wildcards and negations', () => {
    expect(configuredHostNames('Host a b\nHost *.x !c\nHost a\nMatch host d\n')).toEqual(['a', 'b']);
  });
});
