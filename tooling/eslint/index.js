// Shared flat config. Layers are enforced here: a package may import only the
// layers below it, never a higher one and never another package's src/.
import js from '@eslint/js';
import nodePlugin from 'eslint-plugin-n';
import tseslint from 'typescript-eslint';

const LAYERS = ['ports', 'runtime', 'core', 'dask'];

/** @param {{ layer?: string, library?: boolean, tsconfigRootDir: string }} options */
export function config({ layer, library = true, tsconfigRootDir }) {
  const higher = layer !== undefined && LAYERS.includes(layer) ? LAYERS.slice(LAYERS.indexOf(layer) + 1) : [];
  return tseslint.config(
    { ignores: ['dist/**', 'node_modules/**', '*.config.*', 'bin/**'] },
    js.configs.recommended,
    ...tseslint.configs.strictTypeChecked,
    {
      languageOptions: { parserOptions: { projectService: true, tsconfigRootDir } },
      linterOptions: { reportUnusedDisableDirectives: 'error' },
      plugins: { n: nodePlugin },
      rules: {
        '@typescript-eslint/no-floating-promises': 'error',
        '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
        '@typescript-eslint/switch-exhaustiveness-check': 'error',
        '@typescript-eslint/consistent-type-imports': 'error',
        '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
        '@typescript-eslint/no-unnecessary-condition': 'off',
        '@typescript-eslint/no-confusing-void-expression': 'off',
        '@typescript-eslint/no-extraneous-class': 'off',
        '@typescript-eslint/unified-signatures': 'off',
        'n/prefer-node-protocol': 'error',
        'no-console': library ? 'error' : 'off',
        'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              { group: ['@lazycluster/*/src/*', '../../*/src/*'], message: 'Import a package by its name, never its src/.' },
              ...(higher.length
                ? [{ group: higher.map((h) => `@lazycluster/${h}`), message: 'A lower layer never imports a higher one.' }]
                : []),
            ],
          },
        ],
      },
    },
    {
      files: ['**/*.test.ts', '**/test/**'],
      rules: {
        'no-console': 'off',
        '@typescript-eslint/no-non-null-assertion': 'off',
        '@typescript-eslint/no-unsafe-assignment': 'off',
        '@typescript-eslint/no-unsafe-member-access': 'off',
      },
    },
  );
}
