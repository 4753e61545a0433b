import { config } from '@lazycluster/eslint-config';

export default config({ layer: 'ports', library: true, tsconfigRootDir: import.meta.dirname });
