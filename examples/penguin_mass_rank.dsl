# For each species, how do the sexes rank by average body mass, and how many grams
# lighter is each group than its species' heaviest group?
groups = penguins
  | filter sex is not null and body_mass_g is not null
  | group species, sex aggregate n = count(), mass = round(mean(body_mass_g))
heaviest = groups | group species aggregate top = max(mass)
ranked = groups
  | derive rank_in_species = rank(mass desc) over species
  | join heaviest on species
  | derive lighter_by = top - mass
  | drop top
  | sort species, rank_in_species
answer ranked
