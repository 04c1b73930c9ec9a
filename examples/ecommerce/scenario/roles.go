package scenario

import (
	"fmt"
	"slices"
	"strings"
)

// Role is a part of the system one process runs.
type Role string

// The roles. A process runs any set of them; together, the processes
// sharing a PostgreSQL database must run each at least once.
const (
	// The four services: each handles its commands (from this process's
	// sagas directly, from other processes through its inbox stream).
	RoleOrder     Role = "order"
	RoleInventory Role = "inventory"
	RolePayment   Role = "payment"
	RoleLogistics Role = "logistics"
	// RoleFulfilment runs the fulfilment saga's engine; RoleCarriers the
	// carrier simulation.
	RoleFulfilment Role = "fulfilment"
	RoleCarriers   Role = "carriers"
	// RoleProjections runs the read models.
	RoleProjections Role = "projections"
	// RoleClient seeds the catalogue, places the orders, waits for the
	// flow to settle and checks the report.
	RoleClient Role = "client"
)

// AllRoles is every role: the single-process default.
var AllRoles = Roles{RoleOrder, RoleInventory, RolePayment, RoleLogistics, RoleFulfilment, RoleCarriers, RoleProjections, RoleClient}

// ServiceRoles are the roles that handle commands.
var ServiceRoles = Roles{RoleOrder, RoleInventory, RolePayment, RoleLogistics}

// Roles is a set of roles.
type Roles []Role

// Has reports whether r holds role; an empty set holds every role.
func (r Roles) Has(role Role) bool { return len(r) == 0 || slices.Contains(r, role) }

// ParseRoles parses a comma-separated list of roles; "all" (or "") is
// every role, "services" the four services.
func ParseRoles(s string) (Roles, error) {
	if s == "" || s == "all" {
		return AllRoles, nil
	}
	var out Roles
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "services":
			out = append(out, ServiceRoles...)
		case slices.Contains(AllRoles, Role(name)):
			out = append(out, Role(name))
		default:
			return nil, fmt.Errorf("scenario: unknown role %q (want some of %s, services, all)", name, AllRoles)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (r Roles) String() string {
	names := make([]string, len(r))
	for i, role := range r {
		names[i] = string(role)
	}
	return strings.Join(names, ",")
}
