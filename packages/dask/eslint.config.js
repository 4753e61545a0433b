import { config } from '@lazycluster/eslint-config';

export default config({ layer: 'dask', library: true, tsconfigRootDir: import.meta.dirname });
