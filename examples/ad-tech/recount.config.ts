import { defineConfig } from 'recount';

export default defineConfig({
  datasets: {
    // Raw ad-tech events, one folder per hour: data/events/dt=2023-10-12/hour=09/*.parquet + _SUCCESS
    events: { root: 'data/events', grain: 'hour' },
  },
  output: 'data/out',
  state: 'sqlite:.recount/state.db',
  keepVersions: 3,
  defaults: { memory: '1GB', threads: 2, files: 'auto' },
});
