package sql

// CountActiveQuery is countActiveQuery, for the test of its plan.
const CountActiveQuery = countActiveQuery
