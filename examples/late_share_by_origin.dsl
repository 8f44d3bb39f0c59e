# Which New York airports have a higher share of flights arriving more than 30 minutes
# late than all airports together?
overall = flights
  | filter arr_delay is not null
  | aggregate share = mean(arr_delay > 30)
by_origin = flights
  | filter arr_delay is not null
  | group origin aggregate flights = count(), share = mean(arr_delay > 30)
  | filter share > overall.share
  | derive percent = round(100 * share, 1)
  | sort percent desc
answer by_origin.origin
