package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

func TestSessions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Init(ctx, "admin", "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		viewer := track.User{Login: "ann", Role: track.RoleViewer, Password: "first password"}
		if err := db.CreateUser(ctx, &viewer); err != nil {
			t.Fatal(err)
		}
		bad := func(token, why string) {
			t.Helper()
			if u, err := db.SessionUser(ctx, token); !errors.Is(err, track.ErrBadCredentials) {
				t.Errorf("%s: SessionUser = %+v, %v; want ErrBadCredentials", why, u, err)
			}
		}
		token, expires, err := db.CreateSession(ctx, viewer.ID, time.Hour)
		if err != nil || len(token) < 40 || time.Until(expires) < 59*time.Minute {
			t.Fatalf("CreateSession = %q, %v, %v", token, expires, err)
		}
		u, err := db.SessionUser(ctx, token)
		if err != nil || u.ID != viewer.ID || u.Login != "ann" || u.Role != track.RoleViewer {
			t.Fatalf("SessionUser = %+v, %v; want ann, viewer", u, err)
		}
		bad(token[:len(token)-1], "a cut token")
		bad("", "no token")

		// A role change applies to live sessions.
		viewer.Role, viewer.Password = track.RoleAdmin, ""
		if err := db.UpdateUser(ctx, &viewer); err != nil {
			t.Fatal(err)
		}
		if u, err := db.SessionUser(ctx, token); err != nil || u.Role != track.RoleAdmin {
			t.Errorf("after the role change: %+v, %v; want admin", u, err)
		}
		// A new password ends them.
		viewer.Password = "second password"
		if err := db.UpdateUser(ctx, &viewer); err != nil {
			t.Fatal(err)
		}
		bad(token, "after a new password")

		// Logout ends one session, not the others.
		t1, _, _ := db.CreateSession(ctx, viewer.ID, time.Hour)
		t2, _, _ := db.CreateSession(ctx, viewer.ID, time.Hour)
		if err := db.DeleteSession(ctx, t1); err != nil {
			t.Fatal(err)
		}
		bad(t1, "after logout")
		if _, err := db.SessionUser(ctx, t2); err != nil {
			t.Errorf("the other session: %v", err)
		}
		// Deleting the user ends its sessions.
		if err := db.DeleteUser(ctx, viewer.ID); err != nil {
			t.Fatal(err)
		}
		bad(t2, "after the user was deleted")

		// An expired session is refused (and forgotten by the next login).
		admin, err := db.CheckUserPassword(ctx, "admin", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		old, _, err := db.CreateSession(ctx, admin.ID, -time.Second)
		if err != nil {
			t.Fatal(err)
		}
		bad(old, "an expired session")
	})
}
