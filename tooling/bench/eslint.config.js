import { config } from '@lazycluster/eslint-config';

export default config({ library: false, tsconfigRootDir: import.meta.dirname });
