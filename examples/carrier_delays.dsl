# Which three carriers (with at least 100 flights) have the worst average departure delay,
# and what are their full names?
by_carrier = flights
  | filter dep_delay is not null
  | group carrier aggregate flights = count(), mean_delay = round(mean(dep_delay), 1)
  | filter flights >= 100
worst = by_carrier
  | join airlines on carrier
  | sort mean_delay desc
  | take 3
  | select carrier, name, flights, mean_delay
answer worst
