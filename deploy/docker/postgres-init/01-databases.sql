-- One database and one owner role per service (no service reads another's database).
-- Run once by the postgres image entrypoint on an empty data directory
-- (mounted into /docker-entrypoint-initdb.d by docker-compose.yml). Dev credentials only.
CREATE ROLE identity       LOGIN PASSWORD 'identity';
CREATE ROLE catalog        LOGIN PASSWORD 'catalog';
CREATE ROLE orders         LOGIN PASSWORD 'orders';
CREATE ROLE subscriptions  LOGIN PASSWORD 'subscriptions';
CREATE ROLE keys           LOGIN PASSWORD 'keys';
CREATE ROLE delegatedadmin LOGIN PASSWORD 'delegatedadmin';
CREATE DATABASE identity       OWNER identity;
CREATE DATABASE catalog        OWNER catalog;
CREATE DATABASE orders         OWNER orders;
CREATE DATABASE subscriptions  OWNER subscriptions;
CREATE DATABASE keys           OWNER keys;
CREATE DATABASE delegatedadmin OWNER delegatedadmin;
