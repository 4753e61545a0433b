import { config } from '@lazycluster/eslint-config';

export default config({ layer: 'core', library: true, tsconfigRootDir: import.meta.dirname });
