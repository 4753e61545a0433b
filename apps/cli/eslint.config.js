import { config } from '@lazycluster/eslint-config';

export default config({ layer: 'app', library: false, tsconfigRootDir: import.meta.dirname });
