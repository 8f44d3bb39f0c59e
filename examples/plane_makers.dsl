# Which plane manufacturers flew the most flights in the sample, how many distinct planes
# did each use, and how old were those planes on average in 2013?
flown = flights
  | join planes on tailnum
  | filter year_planes is not null
  | derive age = year - year_planes
makers = flown
  | group manufacturer aggregate flights = count(), planes = count_distinct(tailnum), mean_age = round(mean(age), 1)
  | sort flights desc
  | take 5
answer makers
