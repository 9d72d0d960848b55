package mapping

import "testing"

func BenchmarkNormalize(b *testing.B) {
	b.Run("email", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = NormalizeEmail("  Jean.Dupont+crm@Example.FR ")
		}
	})
	b.Run("email_idn", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = EmailKey("user@exämple.fr")
		}
	})
	b.Run("linkedin", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = NormalizeLinkedIn("https://fr.linkedin.com/in/Jean%C3%A9-Dupont/?trk=x#y")
		}
	})
	b.Run("phone", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = NormalizePhone("06 12 34 56 78", "FR")
		}
	})
	b.Run("hash", func(b *testing.B) {
		p := Person{FirstName: "Jean", LastName: "Dupont", Emails: []string{"jean@x.fr"}, Phones: []string{"+33612345678"},
			LinkedIn: "https://www.linkedin.com/in/jean-dupont", LeadStage: StageQualified}
		set := NewFieldSet(AllFields...)
		b.ReportAllocs()
		for b.Loop() {
			_ = Hash(&p, set)
		}
	})
}
