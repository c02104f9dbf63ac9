-- Statistics of each permission bit, so that the planner knows how few hold
-- a permission (SPEC "Filter and search": filter by permission).
--
-- Without them it takes "(permissions & 4) <> 0" for a test almost every row
-- passes, and counted the matches of "Manage Curations, active" (10,000 of
-- 1,000,000 users, 53,000 holders) by scanning the table: 330,000 rows, 37-45
-- ms. With them it reads the permission's partial index: 16 ms. The listing
-- writes each permission's test literally, as these expressions and the
-- partial indexes of 0004 have it. (The migration runner refreshes the
-- statistics after applying.)
CREATE STATISTICS users_manage_users ON (permissions & 1) FROM users;
CREATE STATISTICS users_view_analytics ON (permissions & 2) FROM users;
CREATE STATISTICS users_manage_curations ON (permissions & 4) FROM users;
CREATE STATISTICS users_manage_comments ON (permissions & 8) FROM users;
