"""The shared half of the tasks that watch tuning jobs: the operators and the sensor build on it."""
