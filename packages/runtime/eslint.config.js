import { config } from '@lazycluster/eslint-config';

export default config({ layer: 'runtime', library: true, tsconfigRootDir: import.meta.dirname });
